"""The doctor: is everything the pipeline needs here, and does it work?"""
