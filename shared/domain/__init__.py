"""What the product is about, free of storage, HTTP and e-mail: errors, models, the invitation's rules."""
