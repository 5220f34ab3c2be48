"""Pages the sandbox serves to people: the API reference at `/docs`."""
