"""Reports (issue 19, P1–P3): the daily health report, the weekly capacity, performance and
security reviews and the monthly assessment, computed with PromQL through Vigil's engine and
from Vigil's own records, rendered to HTML, PDF and JSON, scheduled, delivered and archived."""
