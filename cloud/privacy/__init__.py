"""One privacy policy for the API, the console, the message texts and the logs.

``policy`` holds the table of audience x personal field; ``scope`` says which households
a worker login may see; ``access_log`` records every read of a resident's record.
"""
