from . import legal_profiles
