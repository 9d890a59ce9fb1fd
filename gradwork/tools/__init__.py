"""Tools that make training understandable: gradient checking, sanity checks, bias/variance diagnosis,
information-theory metrics (``tools.info``) and pictures (``tools.viz``)."""
from gradwork.tools.gradcheck import check_model_gradients, gradcheck, verdict
from gradwork.tools.summary import summary
from gradwork.tools import info
from gradwork.tools.diagnose import Diagnosis, diagnose, loss_curve_checks
from gradwork.tools.sanity import sanity_checks
