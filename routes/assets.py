"""Assets pages and API."""
from flask import Blueprint

bp = Blueprint("assets", __name__)
