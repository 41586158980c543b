"""The privacy notice's rights and clocks: prize draw (delete the list once drawn), retention."""
