"""Documents: the catalogue, registers and numbering, intake, page rendering and search."""
