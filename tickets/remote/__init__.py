"""Remote assistance with TeamViewer (terms §5, §6): its services and the operators' pages."""
