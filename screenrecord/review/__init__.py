"""Looking back over the archive: report, time per application, highlights, why, status and the browse site."""
