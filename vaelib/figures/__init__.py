"""Drawing modules, one per chapter topic; the computing modules of vaelib never import matplotlib."""
