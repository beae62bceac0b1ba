"""Blueprints, one per area, and the JSON error handling they share."""


def register_blueprints(app):
    """Register every blueprint and the error handlers on `app`."""
    from routes import (
        assets,
        batches,
        dashboard,
        doctor,
        errors,
        feed,
        feed_admin,
        feed_files,
        health,
        pipeline,
        presets,
        runs,
        segments,
    )

    app.register_blueprint(dashboard.bp)
    app.register_blueprint(pipeline.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(doctor.bp)
    app.register_blueprint(runs.bp)
    app.register_blueprint(batches.bp)
    app.register_blueprint(feed.bp)
    app.register_blueprint(feed_files.bp)
    app.register_blueprint(feed_admin.bp)
    app.register_blueprint(presets.bp)
    app.register_blueprint(segments.bp)
    app.register_blueprint(assets.bp)
    errors.register(app)
