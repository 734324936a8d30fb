# The zoo's pytest fixtures: zoo_manager, empty_zoo_manager, register_plugin.
pytest_plugins = ["zoo.testing"]
