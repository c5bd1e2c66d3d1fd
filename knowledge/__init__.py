"""Official knowledge: ingestion per source format, the per-tenant hybrid index, and calibrated confidence."""
