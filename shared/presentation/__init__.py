"""What people read: message catalogs, templates, pages, the invitation e-mail, the company form.

HTML only: the web room chooses the HTTP status of each page.
"""
