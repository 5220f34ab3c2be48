"""Who is asking: SIWE sign-in, session tokens, API keys and which endpoints accept them."""
