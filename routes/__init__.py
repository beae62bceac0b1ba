"""Blueprints, one per area, and the JSON error handling they share."""


def register_blueprints(app):
    """Register every blueprint and the error handlers on `app`."""
    from routes import dashboard, doctor, errors, feed, health, pipeline, runs

    app.register_blueprint(dashboard.bp)
    app.register_blueprint(pipeline.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(doctor.bp)
    app.register_blueprint(runs.bp)
    app.register_blueprint(feed.bp)
    errors.register(app)
