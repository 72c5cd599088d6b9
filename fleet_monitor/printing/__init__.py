"""Printed documents: HTML templates rendered to PDF with WeasyPrint.

Notices, daily reports, the statistics and the negotiation pack are laid out
once, in HTML and CSS, and printed from the same templates as the pages and
e-mails (``html_pdf.render_pdf``). See docs/documents.md.
"""
