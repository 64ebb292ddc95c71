"""The model library: model files and their records, uploads and the drop-in scanner, type and base detection, safety checks, Hub import."""
