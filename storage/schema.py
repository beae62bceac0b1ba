"""Brings an older database up to the current tables: new tables are made, new columns added."""
import logging

from sqlalchemy import inspect, text

log = logging.getLogger(__name__)


def upgrade(db):
    """Create missing tables, then add each model column an existing table lacks.

    New columns are nullable or have a server default, so ALTER TABLE … ADD COLUMN is enough
    on SQLite and on other databases alike.
    """
    db.create_all()
    inspector = inspect(db.engine)
    for table in db.metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            kind = column.type.compile(dialect=db.engine.dialect)
            default = ""
            if column.server_default is not None:
                default = f" DEFAULT {column.server_default.arg}"
            with db.engine.begin() as connection:
                connection.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}{default}'))
            log.info("Database: added column %s.%s", table.name, column.name)
