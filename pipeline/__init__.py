"""The Faust shell around the pure core: app, topics, tables, agents, settings, CLI, broker."""
