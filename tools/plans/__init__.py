"""Reviewed optimization plans: the model, patches, reviewers, storage and rendering.

``tools.plans.model``     the six-field Plan and its validation
``tools.plans.patches``   strategic-merge patches per field, checked against the kubernetes models
``tools.plans.compose``   make, merge and rank plans
``tools.plans.reviewers`` reviewers from workload_owners / namespace labels / owners.yaml
``tools.plans.store``     plans and reviews in the warehouse
``tools.plans.render``    Markdown, list rows and ticket bodies
``tools.plans.propose``   the ``propose_plans`` tool: explain rows and waste findings -> plans
``tools.plans.proposal``  its input/output models, risk texts and the owner check
``tools.plans.from_explain``, ``tools.plans.from_findings``  the two sources of plans
"""
