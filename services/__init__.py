"""The domain code, free of Flask: the request checker, the run engine, the stages and what they
use (media, download, text), and the features (presets, assets, batches, the doctor).

Nothing here imports `webui`, `routes`, `storage` or `orchestration`; tests/test_layout.py
keeps it so.
"""
