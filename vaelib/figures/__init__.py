"""Drawing modules, one per chapter topic; vaelib's computing modules never import matplotlib."""
