"""Generator of a labelled corpus of real, torch-trained small runs with injected faults.

The corpus is what logsleuth's thresholds and cause weights are fitted on, and validated on
held-out folds, so everything here is decided by what was injected and what the training
itself measured against a healthy twin -- never by running logsleuth.

Data flows one way:

    plan (seeded run specs) -> kinds (data + model + loss of one kind of training)
      -> faults (a healthy config turned into a faulty one) -> train (the real loop: History)
      -> measure (effect vs the twin, symptoms of the logged curves)
      -> logview (cadence + metric names: Logged series) -> writers (files of one format)
      -> driver (workers, retries, label.yaml, index.csv)

torch is imported here only; logsleuth never imports this package.
"""
