"""The desktop application: PySide6 + pyqtgraph only here, a thin layer over the core."""
