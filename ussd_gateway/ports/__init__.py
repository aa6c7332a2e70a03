"""Small protocols the engine and the application need from the adapters below them."""
