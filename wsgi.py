"""The dashboard for a production WSGI server: `make serve` runs gunicorn on `wsgi:app`
(settings in gunicorn.conf.py). PIPELINE_CONFIG names another configuration file."""
import logging
import os

from webui.serving import serving_app

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

app = serving_app(os.environ.get("PIPELINE_CONFIG") or None)
