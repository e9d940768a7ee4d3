from services.common.migrations import run_env
from services.siber.models import Base

run_env(Base.metadata)
