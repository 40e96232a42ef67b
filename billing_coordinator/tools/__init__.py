from . import legal_profiles
from . import dunning_rules
