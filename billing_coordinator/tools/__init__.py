from . import legal_profiles
from . import dunning_rules
from . import bulk_insert
from . import sql_settings
from . import sql_arrays
from . import chatter
from . import activities
from . import relations
