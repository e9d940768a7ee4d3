from services.common.migrations import run_env
from services.ppid.models import Base

run_env(Base.metadata)
