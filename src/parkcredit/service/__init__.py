"""The HTTP service: FastAPI app, auth, routers per audience (committee, bank, auditor, admin)."""
