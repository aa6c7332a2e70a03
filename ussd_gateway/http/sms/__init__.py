"""Africa's Talking's SMS callbacks in the web application."""
