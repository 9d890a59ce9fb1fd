"""Tools that make training understandable: gradient checking, and pictures (``tools.viz``)."""
from gradwork.tools.gradcheck import check_model_gradients, gradcheck, verdict
from gradwork.tools.summary import summary
