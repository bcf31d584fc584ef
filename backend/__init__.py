"""eoffice web application: HTTP, persistence and orchestration."""
