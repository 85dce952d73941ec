"""The site's own pages: the home page and the pages that introduce partnership, membership and
donations. It reads the domains through their services and owns no data."""
