"""What operators look at (issue 17): readiness checks and the figures the metrics collector
reads from the database at scrape time. Queries only: nothing here writes."""
from app.services.operations.figures import JobFigures, OutboxFigures, PlatformFigures, platform_figures
from app.services.operations.readiness import Readiness, code_head, readiness

__all__ = ["JobFigures", "OutboxFigures", "PlatformFigures", "Readiness", "code_head", "platform_figures",
           "readiness"]
