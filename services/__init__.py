"""Pipeline services: stages, controller, events and estimation. No Flask imports here."""
