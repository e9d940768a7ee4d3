from services.common.migrations import run_env
from services.lapor.models import Base

run_env(Base.metadata)
