"""The honest competitor: a third lab that builds the provider's skill without its API.

    purchase  its own translations, bought from its own team at the provider's price, as training records
    program   what is free: a program written from the provider's advertised examples

It is the null of every accusation: a model with the same skill that never saw the provider's
answers. Notebook 02 trains it with the distiller's recipe on its own data; notebook 03 prices
its route; the provider's tests must tell it from the copy.
"""
