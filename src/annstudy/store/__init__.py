"""How outputs are written and read back: atomic files (artifacts) and the one record format,
dvclive directories (records). Below every other package: it imports no annstudy module but itself."""
