"""The ``gradwork`` command line."""
