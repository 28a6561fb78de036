import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "natalizumab_monitor.settings")
application = get_wsgi_application()

# What is loaded by now (code, settings, apps) lives as long as the process: the cyclic
# garbage collector need not walk it again, and a page's many short-lived objects need not
# set it off every 700 allocations (Python's default).
gc.freeze()
gc.set_threshold(50_000, 20, 20)
