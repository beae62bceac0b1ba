"""Segments pages and API."""
from flask import Blueprint

bp = Blueprint("segments", __name__)
