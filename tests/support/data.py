"""Registration answers that pass: a residential customer at Velzio and a
business customer at Elektrum (its contract is in data/elektrum-contracts.csv)."""

VELZIO_OK = {
    "first_name": "Ona",
    "last_name": "Onaitė",
    "email": "ona@example.com",
    "password": "Slapta123",
    "password2": "Slapta123",
    "phone": "861234567",
    "invoices_by_email": "y",
    "terms": "y",
}

ELEKTRUM_OK = {
    "first_name": "Jonas",
    "last_name": "Jonaitis",
    "company_code": "110053842",
    "email": "jonas@example.com",
    "is_customer": "yes",
    "contract_number": "4100012345",
}

ELEKTRUM_PASSWORD = "Stipru5Slaptaz"
