"""One module per report notebook: each section's entry decides once between the small and the large view."""
