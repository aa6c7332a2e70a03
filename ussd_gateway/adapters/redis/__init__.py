"""The process's one Redis client, and the batcher every hop's Redis trips go through."""
