"""Training settings: one module per experiment, ``ltr/train_settings/<module>/<name>.py``, each with ``run(settings)``.

``python -m ltr.run_training <module> <name>`` imports ``ltr.train_settings.<module>.<name>`` and calls its
``run`` with a ``Settings`` object whose ``module_name``, ``script_name`` and ``project_path``
(``'ltr/<module>/<name>'``, which names the checkpoint and TensorBoard directories) are set.
"""
