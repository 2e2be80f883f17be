"""Google's dialect: the Gemini API and Vertex AI express mode over the same licences and tasks.

The unmodified ``google-genai`` SDKs and the curl of Google's docs talk to the gateway here, under
``/gemini`` (the SDK's ``base_url``) and, where nothing collides with the OpenAI routes, at the root
(``/v1beta``, ``/v1beta1``). Handlers translate Google's wire to the same orders the OpenAI routes
make (``ImageOrder``, ``VideoOrder``) and back; they decide nothing the services decide. Errors
under these prefixes take Google's shape (:mod:`gateway.gemini.dialect`), which the error middleware
asks for by path.
"""
