"""Backend connectors: how a submission reaches an institution's system (``http``, ``govesb``)."""
